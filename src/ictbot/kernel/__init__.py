"""The kernel every mode shares: the pipeline one closed candle goes through, its latency samples and its clock."""
