"""Provider generation under the call policy: chat completions, structured output, images, videos."""
