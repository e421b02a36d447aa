package keygroup

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"unsafe"
)

// Hasher returns a deterministic hash function for keys of type K: the same
// key hashes the same in every process, which key groups require (invariant 1).
// Strings (named string types too), booleans and numbers hash by value; other comparable
// types must implement Hashable, or Hasher reports an error that says so.
func Hasher[K comparable]() (func(K) uint64, error) {
	var zero K
	switch any(zero).(type) {
	case string:
		return func(k K) uint64 { return String(any(k).(string)) }, nil
	case int:
		return func(k K) uint64 { return uint64(any(k).(int)) }, nil
	case int8:
		return func(k K) uint64 { return uint64(any(k).(int8)) }, nil
	case int16:
		return func(k K) uint64 { return uint64(any(k).(int16)) }, nil
	case int32:
		return func(k K) uint64 { return uint64(any(k).(int32)) }, nil
	case int64:
		return func(k K) uint64 { return uint64(any(k).(int64)) }, nil
	case uint:
		return func(k K) uint64 { return uint64(any(k).(uint)) }, nil
	case uint8:
		return func(k K) uint64 { return uint64(any(k).(uint8)) }, nil
	case uint16:
		return func(k K) uint64 { return uint64(any(k).(uint16)) }, nil
	case uint32:
		return func(k K) uint64 { return uint64(any(k).(uint32)) }, nil
	case uint64:
		return func(k K) uint64 { return any(k).(uint64) }, nil
	case float64:
		return func(k K) uint64 { return math.Float64bits(any(k).(float64)) }, nil
	case bool:
		return func(k K) uint64 {
			if any(k).(bool) {
				return 1
			}
			return 0
		}, nil
	}
	if _, ok := any(zero).(Hashable); ok {
		return func(k K) uint64 { return any(k).(Hashable).KeyHash() }, nil
	}
	if reflect.TypeFor[K]().Kind() == reflect.String {
		// A named string type (type UserID string) hashes as its string.
		return func(k K) uint64 { return String(*(*string)(unsafe.Pointer(&k))) }, nil
	}
	return nil, fmt.Errorf("key type %s has no deterministic hash: use a string or number key, or implement KeyHash() uint64", reflect.TypeFor[K]())
}

// Cloner returns a function that makes a key safe to keep in state: for
// string kinds, a copy that shares no memory with the record it came from
// (sources may cut records from shared buffers); other keys are returned as
// they are. Operators call it only when they insert a new key, so a record
// whose key is already known costs nothing.
func Cloner[K comparable]() func(K) K {
	if reflect.TypeFor[K]().Kind() != reflect.String {
		return func(k K) K { return k }
	}
	return func(k K) K {
		s := strings.Clone(*(*string)(unsafe.Pointer(&k)))
		return *(*K)(unsafe.Pointer(&s))
	}
}

// Hashable is implemented by key types that are not strings or numbers.
// KeyHash must depend only on the key's value, never on addresses or on the
// process, because key groups must be the same after a restart.
type Hashable interface {
	KeyHash() uint64
}

// String hashes s with a fixed seed (FNV-1a, 64 bits). It is stable across
func String(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
