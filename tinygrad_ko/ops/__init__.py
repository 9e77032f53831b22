"""One Function subclass per differentiable op, grouped by family."""
