package format

// ReferenceJSONDecoder is the encoding/json decoder the scanner is checked
// against.
func ReferenceJSONDecoder(c Config) (Decoder, error) { return JSON{}.referenceDecoder(c) }
