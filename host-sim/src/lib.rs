//! edgerank's feed-world simulator.
