"""The research loop: optimise, walk forward, and measure whether an edge is more than luck."""
