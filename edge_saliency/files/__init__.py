"""File safety: every file the package writes goes through :mod:`.atomic`; :mod:`.checks` compares a command's
outputs with its inputs before anything runs; :mod:`.sidecar` is the JSON record beside every artifact and
:mod:`.hashing` the checksum it carries."""
