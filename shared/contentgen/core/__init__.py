"""The generation core: deadlines, the retry policy, chat completions and structured output."""
