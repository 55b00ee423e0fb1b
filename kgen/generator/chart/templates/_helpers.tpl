{{/*
Names follow Helm's conventions: the chart name (or nameOverride) is the app,
the release name prefixes every object ("<release>-<component>"), and
fullnameOverride replaces that prefix. A name too long for its object keeps a
prefix plus an 8-hex hash of the whole name, as `kgen build` does.
*/}}
{{- define "kgen.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kgen.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kgen.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* (dict "name" <name> "limit" <n>): the name, or a prefix plus 8 hex of its sha256 when longer than limit. */}}
{{- define "kgen.fitName" -}}
{{- if le (len .name) (int .limit) -}}
{{- .name -}}
{{- else -}}
{{- printf "%s-%s" (regexReplaceAll "-+$" (trunc (int (sub .limit 9)) .name) "") (sha256sum .name | trunc 8) -}}
{{- end -}}
{{- end -}}

{{/* The name of a component's main objects. Call with (dict "root" $ "name" <component> "c" <values>). */}}
{{- define "kgen.componentName" -}}
{{- /* a CronJob's Jobs and a StatefulSet's revision label append 11 characters; a gang's pod hostnames need room */ -}}
{{- $limit := get (dict "cronjob" 52 "statefulset" 52 "training" 44) .c.kind | default 63 -}}
{{- include "kgen.fitName" (dict "name" (printf "%s-%s" (include "kgen.fullname" .root) .name) "limit" $limit) -}}
{{- end -}}

{{/* A YAML scalar as Kubernetes keeps it in a string field: 300 -> "300", true -> "true". */}}
{{- define "kgen.text" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* Maps merge key by key, anything else replaces (kgen's override rule). Returns JSON. */}}
{{- define "kgen.deepMerge" -}}
{{- $out := deepCopy .base -}}
{{- range $key, $value := .override -}}
{{- if and (kindIs "map" $value) (kindIs "map" (get $out $key)) -}}
{{- $_ := set $out $key (include "kgen.deepMerge" (dict "base" (get $out $key) "override" $value) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The stable labels selectors use. Call with (dict "root" $ "name" <component>). */}}
{{- define "kgen.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kgen.name" .root | toJson }}
app.kubernetes.io/instance: {{ .root.Release.Name | toJson }}
app.kubernetes.io/component: {{ .name | toJson }}
{{- end -}}

{{/* Pod labels: app labels, then component labels, then the selector labels (which win). */}}
{{- define "kgen.podLabels" -}}
{{- $c := index .root.Values.components .name -}}
{{- $labels := dict -}}
{{- range $key, $value := (.root.Values.labels | default dict) }}{{ $_ := set $labels $key $value }}{{ end -}}
{{- range $key, $value := ($c.labels | default dict) }}{{ $_ := set $labels $key $value }}{{ end -}}
{{- $labels = merge (include "kgen.selectorLabels" . | fromYaml) $labels -}}
{{- toYaml $labels -}}
{{- end -}}

{{/* Object labels: pod labels plus the app version and who manages the object (never on pods). */}}
{{- define "kgen.labels" -}}
{{ include "kgen.podLabels" . }}
{{- with .root.Chart.AppVersion }}
app.kubernetes.io/version: {{ . | toJson }}
{{- end }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | toJson }}
helm.sh/chart: {{ include "kgen.chart" .root | toJson }}
{{- end -}}

{{/*
name, the release's namespace, labels, and the app's annotations with the object's own
("annotations", optional) over them.
Call with (dict "root" $ "name" <component> "objectName" <name> ["annotations" <map>]).
*/}}
{{- define "kgen.metadata" -}}
name: {{ .objectName | toJson }}
namespace: {{ .root.Release.Namespace | toJson }}
labels:
  {{- include "kgen.labels" . | nindent 2 }}
{{- with merge (deepCopy (.annotations | default dict)) (.root.Values.annotations | default dict) }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A component's ports as a YAML list of {name, port, protocol}; the first is the primary port. */}}
{{- define "kgen.ports" -}}
{{- $ports := list -}}
{{- range .ports }}{{ $ports = append $ports (dict "name" .name "port" .port "protocol" (.protocol | default "TCP")) }}{{ end -}}
{{- toYaml $ports -}}
{{- end -}}

{{/* The ServiceAccount pods run as: the component's own unless serviceAccount.create is false. */}}
{{- define "kgen.serviceAccountName" -}}
{{- $account := .c.serviceAccount | default dict -}}
{{- $create := ternary $account.create true (hasKey $account "create") -}}
{{- if hasKey $account "name" }}{{ $account.name }}{{ else if $create }}{{ include "kgen.componentName" . }}{{ else }}default{{ end -}}
{{- end -}}

{{/* The ConfigMap's data as strings (JSON, which keeps every byte of a file's text), or nothing. */}}
{{- define "kgen.configData" -}}
{{- $data := dict -}}
{{- range $key, $value := ((.c.config | default dict).data | default dict) }}{{ $_ := set $data $key (include "kgen.text" $value) }}{{ end -}}
{{- if $data }}{{ toJson $data }}{{ end -}}
{{- end -}}

{{/* <component name>-<first 10 hex of sha256(toJson data)>: new configuration, new name, so pods roll. */}}
{{- define "kgen.configMapName" -}}
{{- printf "%s-%s" (include "kgen.componentName" .) (include "kgen.configData" . | sha256sum | trunc 10) -}}
{{- end -}}

{{/* The minimum of running pods (decides the PodDisruptionBudget). */}}
{{- define "kgen.minReplicas" -}}
{{- if hasKey .c "autoscaling" }}{{ .c.autoscaling.min | default 1 }}{{ else if hasKey .c "keda" }}{{ .c.keda.min | default 0 }}{{ else }}{{ ternary .c.replicas 1 (hasKey .c "replicas") }}{{ end -}}
{{- end -}}

{{/* The headless Service of a StatefulSet. */}}
{{- define "kgen.headlessName" -}}
{{- include "kgen.fitName" (dict "name" (printf "%s-headless" (include "kgen.componentName" .)) "limit" 63) -}}
{{- end -}}

{{/*
A Job's (or training job's) name: its template is immutable, so the name ends with 8 hex of
everything the pod template is made from; a changed Job is a new Job and upgrades never patch one.
*/}}
{{- define "kgen.jobName" -}}
{{- $limit := ternary 44 63 (eq .c.kind "training") -}}
{{- $input := dict "app" (include "kgen.name" .root) "component" .c "labels" (.root.Values.labels | default dict) "prefix" (include "kgen.fullname" .root) -}}
{{- printf "%s-%s" (include "kgen.fitName" (dict "name" (include "kgen.componentName" .) "limit" (sub $limit 9))) (toJson $input | sha256sum | trunc 8) -}}
{{- end -}}

{{/*
One NetworkPolicy rule for a spec peer (component, namespace or CIDR): the ports the peer
lists, else the ports of whoever receives the traffic. Returns JSON.
Call with (dict "root" $ "direction" "from"|"to" "peer" <peer> "ports" <default ports>).
*/}}
{{- define "kgen.peerRule" -}}
{{- $peer := .peer -}}
{{- $to := dict -}}
{{- if hasKey $peer "component" -}}
{{- $to = dict "podSelector" (dict "matchLabels" (include "kgen.selectorLabels" (dict "root" .root "name" $peer.component) | fromYaml)) -}}
{{- else if hasKey $peer "namespace" -}}
{{- $to = dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" $peer.namespace)) -}}
{{- else -}}
{{- $block := dict "cidr" $peer.cidr -}}
{{- with $peer.except }}{{ $_ := set $block "except" . }}{{ end -}}
{{- $to = dict "ipBlock" $block -}}
{{- end -}}
{{- $ports := list -}}
{{- if $peer.ports -}}
{{- range $peer.ports }}{{ $ports = append $ports (dict "port" . "protocol" "TCP") }}{{ end -}}
{{- else -}}
{{- range .ports }}{{ $ports = append $ports (dict "port" .port "protocol" .protocol) }}{{ end -}}
{{- end -}}
{{- $rule := dict .direction (list $to) -}}
{{- if $ports }}{{ $_ := set $rule "ports" $ports }}{{ end -}}
{{- toJson $rule -}}
{{- end -}}
