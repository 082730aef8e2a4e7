package routing

// FormatDistance exposes formatDistance to the external tests.
var FormatDistance = formatDistance
