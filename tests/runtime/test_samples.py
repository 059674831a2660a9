"""Latency samples live in a ring allocated once: the newest ones, oldest first, and no growth however long it runs."""

import numpy as np

from ictbot.kernel.samples import Samples


def test_the_ring_keeps_the_newest_samples_oldest_first_in_fixed_memory():
    samples = Samples(4)
    assert len(samples) == 0 and list(samples) == []
    for value in range(1, 4):
        samples.append(value)
    assert list(samples) == [1, 2, 3]
    before = samples._values.nbytes
    for value in range(4, 11):
        samples.append(value)
    assert list(samples) == [7, 8, 9, 10] and len(samples) == 4
    assert samples._values.nbytes == before
    samples.clear()
    assert list(samples) == []


def test_seconds_keep_their_fractions():
    samples = Samples(3, np.float64)
    samples.append(0.0015)
    assert samples.values().tolist() == [0.0015]
