package config

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Where the default paths point. A path set by flag, CODEVERIFY_* environment or the config file
// is used as given. Otherwise it is relative to the codeverify checkout: the one holding the working
// directory, else the one holding the binary (bin/codeverify); outside any checkout it stays
// relative to the working directory, and a command that reads a directory that is not there
// says which flag sets it.

const modulePath = "github.com/codeverify/codeverify"

// checkoutRoot is the checkout holding the working directory or the binary, or "" when neither is
// inside one.
func checkoutRoot() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			if isCheckout(dir) {
				return dir
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

// isCheckout reports whether dir holds codeverify's go.mod.
func isCheckout(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module")) == modulePath
		}
	}
	return false
}

// DefaultPath is rel under the checkout root, or rel itself outside a checkout.
func DefaultPath(rel string) string {
	if root := checkoutRoot(); root != "" {
		return filepath.Join(root, rel)
	}
	return rel
}

// ExistingDir returns dir when it is a directory, else an error naming the flag that sets it.
func ExistingDir(dir, what, flag string) (string, error) {
	st, err := os.Stat(dir)
	switch {
	case err != nil && os.IsNotExist(err):
		return "", fmt.Errorf("%s %s does not exist (set it with %s)", what, dir, flag)
	case err != nil:
		return "", fmt.Errorf("%s %s: %w (set it with %s)", what, dir, err, flag)
	case !st.IsDir():
		return "", fmt.Errorf("%s %s is not a directory (set it with %s)", what, dir, flag)
	}
	return dir, nil
}
