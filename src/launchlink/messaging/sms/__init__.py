"""SMS: the Twilio-compatible channel, its signed callbacks, and what fans text back."""
