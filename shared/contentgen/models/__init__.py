"""Request and response models (the contract's shapes) and the models' reply shapes."""
