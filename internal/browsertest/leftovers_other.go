//go:build !unix

package browsertest

// killLeftovers does nothing where processes cannot be found by their
// command line; chromedp still ends the browser itself.
func killLeftovers(string) int { return 0 }

func processesWith([]byte) []int { return nil }
