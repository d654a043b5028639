//go:build tools

// Package tools pins the snapshot-controller build.sh builds from this module, and the
// client module whose config/crd/ holds the VolumeSnapshot CRDs up.sh installs.
package tools

import (
	_ "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
