"""What requests cost: the invocation meter, media prices, daily budgets."""
