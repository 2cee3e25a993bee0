"""Personal data on a sealed log: pseudonyms the rules match on, ciphertext a destroyed key erases."""
