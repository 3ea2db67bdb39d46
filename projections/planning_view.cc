// The planning view (placeholder, being written).
