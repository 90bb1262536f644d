// Command kstatus computes kstatus's status (sigs.k8s.io/cli-utils/pkg/kstatus/status: what
// Flux's health checks and `kubectl wait`-style tools use) of resources read from YAML or JSON
// files. It mirrors the library's own entry point, status.Compute on an unstructured object, the
// call Flux's kustomize-controller makes through its status poller. Each file gets one JSON
// line: {"file", "status", "message"}.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

type result struct {
	File    string `json:"file"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kstatus RESOURCE_PATH...")
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	for _, file := range os.Args[1:] {
		line, err := compute(file)
		if err == nil {
			err = out.Encode(line)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kstatus:", err)
			os.Exit(1)
		}
	}
}

func compute(file string) (result, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return result{}, err
	}
	res := unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &res); err != nil {
		return result{}, fmt.Errorf("%s: %w", file, err)
	}
	computed, err := status.Compute(&res)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", file, err)
	}
	return result{File: file, Status: computed.Status.String(), Message: computed.Message}, nil
}
