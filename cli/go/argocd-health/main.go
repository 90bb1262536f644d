// Command argocd-health assesses resources' health the way `argocd admin settings
// resource-overrides health RESOURCE_YAML_PATH --argocd-cm-path argocd-cm.yaml` does.
//
// It mirrors upstream's cmd/argocd/commands/admin/settings.go (Argo CD v3.2.12):
// createSettingsManager (an argocd-cm file behind a fake clientset, read by util/settings'
// SettingsManager), executeResourceOverrideCommand and NewResourceHealthCommand
// (gitops-engine's health.GetResourceHealth with util/lua's ResourceHealthOverrides), without
// the rest of the argocd CLI, whose build is several times larger. Each resource file gets one
// JSON line: {"file", "status", "message"}; a resource with no health script configured gets
// status "".
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	healthutil "github.com/argoproj/gitops-engine/pkg/health"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

type result struct {
	File    string `json:"file"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	cmPath := flag.String("argocd-cm-path", "", "path to an argocd-cm ConfigMap YAML")
	flag.Parse()
	if *cmPath == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: argocd-health --argocd-cm-path argocd-cm.yaml RESOURCE_YAML_PATH...")
		os.Exit(2)
	}
	if err := run(context.Background(), *cmPath, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-health:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmPath string, files []string) error {
	manager, err := settingsManager(ctx, cmPath)
	if err != nil {
		return err
	}
	overrides, err := manager.GetResourceOverrides()
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		res := unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &res); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		health, err := healthutil.GetResourceHealth(&res, lua.ResourceHealthOverrides(overrides))
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		line := result{File: file}
		if health != nil {
			line.Status, line.Message = string(health.Status), health.Message
		}
		if err := out.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

// settingsManager is upstream's createSettingsManager for --argocd-cm-path without a secret.
func settingsManager(ctx context.Context, cmPath string) (*settings.SettingsManager, error) {
	data, err := os.ReadFile(cmPath)
	if err != nil {
		return nil, err
	}
	var argocdCM *corev1.ConfigMap
	if err := yaml.Unmarshal(data, &argocdCM); err != nil {
		return nil, err
	}
	setSettingsMeta(argocdCM)
	argocdSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: common.ArgoCDSecretName},
		Data: map[string][]byte{
			"admin.password":   []byte("test"),
			"server.secretkey": []byte("test"),
		},
	}
	setSettingsMeta(argocdSecret)
	manager := settings.NewSettingsManager(ctx, fake.NewClientset(argocdSecret, argocdCM), "default")
	if err := manager.ResyncInformers(); err != nil {
		return nil, err
	}
	return manager, nil
}

func setSettingsMeta(obj metav1.Object) {
	obj.SetNamespace("default")
	labels := obj.GetLabels()
	if labels == nil {
		labels = make(map[string]string)
	}
	labels["app.kubernetes.io/part-of"] = "argocd"
	obj.SetLabels(labels)
}
