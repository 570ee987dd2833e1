package examples

import (
	"bytes"
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

type probe struct {
	HTTPGet *struct {
		Path string `json:"path"`
		Port int    `json:"port"`
	} `json:"httpGet"`
	TCPSocket *struct {
		Port int `json:"port"`
	} `json:"tcpSocket"`
	PeriodSeconds    int `json:"periodSeconds"`
	FailureThreshold int `json:"failureThreshold"`
}

type container struct {
	Name           string `json:"name"`
	ReadinessProbe *probe `json:"readinessProbe"`
	LivenessProbe  *probe `json:"livenessProbe"`
}

// The replicas' Kubernetes probes and the front Envoy's health check ask the same thing — vmcp's
// /healthz on its http port — and a dead vmcp leaves the endpoints within seconds.
func TestReplicaProbesAndTheFrontHealthCheckAskVMCPsHealthz(t *testing.T) {
	raw, err := os.ReadFile("replicas/vmcp-deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var containers []container
	for _, doc := range bytes.Split(raw, []byte("\n---\n")) {
		var d struct {
			Kind string `json:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []container `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		if d.Kind == "Deployment" {
			containers = d.Spec.Template.Spec.Containers
		}
	}
	byName := map[string]container{}
	for _, c := range containers {
		byName[c.Name] = c
	}
	vm, ok := byName["vmcp"]
	if !ok || vm.ReadinessProbe == nil || vm.LivenessProbe == nil {
		t.Fatalf("the vmcp container lacks readiness or liveness probes: %+v", byName)
	}
	for name, p := range map[string]*probe{"readiness": vm.ReadinessProbe, "liveness": vm.LivenessProbe} {
		if p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port != 18003 {
			t.Errorf("vmcp %s probe does not ask /healthz on 18003: %+v", name, p)
		}
	}
	if r := vm.ReadinessProbe; r.PeriodSeconds*r.FailureThreshold > 5 {
		t.Errorf("a dead vmcp stays ready for %d s", r.PeriodSeconds*r.FailureThreshold)
	}
	if e, ok := byName["envoy"]; !ok || e.ReadinessProbe == nil || e.LivenessProbe == nil {
		t.Errorf("the envoy container lacks probes")
	}

	front, err := os.ReadFile("replicas/front-envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"path: /healthz", "health_check_config: {port_value: 18003}"} {
		if !bytes.Contains(front, []byte(want)) {
			t.Errorf("front-envoy.yaml does not health-check vmcp as the probes do (%q)", want)
		}
	}
}
