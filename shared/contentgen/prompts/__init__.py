"""Every prompt the layer sends, in one place, versioned with the code."""
