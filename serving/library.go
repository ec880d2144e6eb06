// Package serving scores token batches with an ONNX model through ONNX Runtime (CUDA first, CPU
// always). It is the only package that imports github.com/yalue/onnxruntime_go; processors see it
// through reranker.Scorer.
package serving

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv names the environment variable that points at the ONNX Runtime shared library.
const LibraryEnv = "CODEVERIFY_ORT_LIB"

// LibraryFile is where deploy/ort/setup-ort.sh installs the library, relative to the repository.
const LibraryFile = "var/ort/libonnxruntime.so.1.29.0"

// MinVersion is the oldest ONNX Runtime that onnxruntime_go v1.27.0 can drive.
const MinVersion = "1.24.0"

// ErrNoLibrary means the ONNX Runtime shared library is not where we looked.
var ErrNoLibrary = errors.New("ONNX Runtime library not found")

// ResolveLibrary returns the library path: explicit if set, else $CODEVERIFY_ORT_LIB, else
// var/ort/libonnxruntime.so.1.29.0 in the working directory or the nearest parent holding it
// (tests run in package directories).
func ResolveLibrary(explicit string, getenv func(string) string) (string, error) {
	if explicit == "" {
		explicit = getenv(LibraryEnv)
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("%w at %s (%v): run deploy/ort/setup-ort.sh or point %s/--ort-lib at an ONNX Runtime ≥ %s library", ErrNoLibrary, explicit, err, LibraryEnv, MinVersion)
		}
		return explicit, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, LibraryFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no %s here or above, and %s is unset: run deploy/ort/setup-ort.sh (make ort)", ErrNoLibrary, LibraryFile, LibraryEnv)
		}
		dir = parent
	}
}

// The ONNX Runtime environment is process-wide in onnxruntime_go (one library, one OrtEnv). It is
// loaded on the first Open and kept for the life of the process: unloading and reloading ONNX
// Runtime (dlclose with its thread pools alive) is not something to do between two model versions.
var env struct {
	sync.Mutex
	path string
}

func acquireEnv(lib string) error {
	env.Lock()
	defer env.Unlock()
	if env.path != "" {
		if env.path != lib {
			return fmt.Errorf("ONNX Runtime already loaded from %s; cannot also load %s in one process", env.path, lib)
		}
		return nil
	}
	if _, err := os.Stat(lib); err != nil {
		return fmt.Errorf("%w at %s: %v", ErrNoLibrary, lib, err)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "ORT API base") {
			return fmt.Errorf("ONNX Runtime at %s is too old (onnxruntime_go v1.27.0 needs ≥ %s): %w", lib, MinVersion, err)
		}
		return fmt.Errorf("load ONNX Runtime from %s (need a ONNX Runtime ≥ %s shared library; deploy/ort/setup-ort.sh installs one): %w", lib, MinVersion, err)
	}
	if v := ort.GetVersion(); versionLess(v, MinVersion) {
		_ = ort.DestroyEnvironment()
		return fmt.Errorf("ONNX Runtime at %s is %s; need ≥ %s", lib, v, MinVersion)
	}
	env.path = lib
	return nil
}

// RuntimeVersion is the loaded library's version ("" before any session opened).
func RuntimeVersion() string {
	env.Lock()
	defer env.Unlock()
	if env.path == "" {
		return ""
	}
	return ort.GetVersion()
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
