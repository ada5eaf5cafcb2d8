package parse

import (
	"fmt"
	"strings"
)

// User splits -u/--user USER[:GROUP], each a name or a numeric ID. The
// names are resolved later, in the image's /etc/passwd and /etc/group.
func User(s string) (user, group string, err error) {
	user, group, hasGroup := strings.Cut(s, ":")
	if user == "" {
		return "", "", fmt.Errorf("invalid user %q: use USER, USER:GROUP, UID or UID:GID", s)
	}
	if hasGroup && group == "" {
		return "", "", fmt.Errorf("invalid user %q: the group after ':' is empty", s)
	}
	for _, part := range []string{user, group} {
		if strings.ContainsAny(part, ": \t\n\x00/") {
			return "", "", fmt.Errorf("invalid user %q: names cannot contain ':', '/' or whitespace", s)
		}
		if len(part) > 256 {
			return "", "", fmt.Errorf("invalid user %q: name too long", s)
		}
	}
	return user, group, nil
}
