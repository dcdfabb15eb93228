// Owns the torch precompiled header that the other targets reuse.
