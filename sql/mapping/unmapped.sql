-- The unmapped (event_source, event_name) pairs with their call counts and reasons. No parameters.
SELECT event_source, event_name, events, reason FROM unmapped_calls
