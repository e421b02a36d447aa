//go:build race

package keyedstate_test

const raceEnabled = true
