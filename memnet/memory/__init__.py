"""G, generalization: the memory's slots, H's slot choice and forgetting (`slots`), the
candidate index over slots (`index`, §3.3 hashing) and persistence (`store`)."""
