"""Run by ``torchrun`` in tests/training/test_trainer.py: one training process of a 2-process CPU (gloo) run.

Usage: torchrun --standalone --nproc_per_node 2 ddp_worker.py DATA OUTPUT
Each process trains, then saves the weights IT holds to OUTPUT/rank<N>.safetensors so that the test can
compare the processes' weights directly.
"""
import os
import sys

from edge_saliency.models import save_model
from edge_saliency.training import TrainConfig, train


def main() -> None:
    data, output = sys.argv[1], sys.argv[2]
    config = TrainConfig(stage=1, model="emlnet-lite", data=data, output=output, input_size=(64, 96), epochs=1,
                         batch_size=2, workers=0, hflip=True)
    result = train(config, progress=False)
    rank = int(os.environ["RANK"])
    save_model(result.model, os.path.join(output, "rank{}.safetensors".format(rank)))


if __name__ == "__main__":
    main()
