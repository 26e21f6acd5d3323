"""Where a run's results go: sinks by URI (video files, maps, JSON lines, the summary, a window, the HTTP live
page with its metrics, RTP / RTSP streams) and the video encoders behind them."""
