package evaluation

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/model"
)

// registry is the model registry at dir (default VAR_DIR/models). It must exist: an empty listing
// of a mistyped or defaulted-elsewhere path would read as "no models".
func registry(env *config.Env, dir string) (model.Registry, error) {
	d, err := config.ExistingDir(cmp.Or(dir, filepath.Join(env.Config.VarDir, "models")), "model registry", "--models-dir (or --var-dir, CODEVERIFY_VAR_DIR)")
	return model.Registry{Dir: d}, err
}

// ListModels prints the registry's versions, oldest first, with their validation metrics.
func ListModels(env *config.Env, dir string, w io.Writer) error {
	reg, err := registry(env, dir)
	if err != nil {
		return err
	}
	ms, err := reg.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "version\tcreated\tdataset\texamples\tdevice\tpair_acc\tauroc\tpass@1\trandom\toracle")
	for _, m := range ms {
		x := m.Metrics
		fmt.Fprintf(tw, "%s\t%s\t%.12s\t%d\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\n", m.Version, m.CreatedAt.Format(time.RFC3339), m.Dataset.Hash,
			m.Dataset.Stats.Examples, m.Training.Device, x.PairwiseAccuracy, x.AUROC, x.RerankedPass1, x.RandomPass1, x.OraclePass)
	}
	return tw.Flush()
}

// ShowModel prints a version's manifest as indented JSON; "latest" is the newest version.
func ShowModel(env *config.Env, dir, version string, w io.Writer) error {
	reg, err := registry(env, dir)
	if err != nil {
		return err
	}
	if version == "latest" {
		ms, err := reg.List()
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return fmt.Errorf("no models in %s", reg.Dir)
		}
		version = ms[len(ms)-1].Version
	}
	m, err := reg.Get(version)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}
