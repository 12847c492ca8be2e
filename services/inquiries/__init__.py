"""The inquiry pipeline: from a guest's first question to a booking or a loss."""
