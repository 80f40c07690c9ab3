"""Labs: the model, the workspace lifecycle, the check runner and hints."""
