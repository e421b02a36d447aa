//go:build !race

package keyedstate_test

const raceEnabled = false
