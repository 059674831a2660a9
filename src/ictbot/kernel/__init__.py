"""The kernel every mode shares: the pipeline one closed candle goes through and the latency samples it keeps."""
