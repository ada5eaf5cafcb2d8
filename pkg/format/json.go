package format

import (
	"encoding/json"
	"io"
	"strings"
)

// JSONArray prints values as Docker's inspect commands do: a JSON array with
// 4-space indentation and HTML characters unescaped ("[]" when empty).
func JSONArray(w io.Writer, values []any) error {
	if values == nil {
		values = []any{}
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(values); err != nil {
		return err
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
