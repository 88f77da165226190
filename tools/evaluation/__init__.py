"""``wiredesk eval``: dedupe quality on labelled data, through the services' own code path."""
