{{- define "kgen.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The stable labels selectors use. Call with (dict "root" $ "name" <component>). */}}
{{- define "kgen.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Values.app | toJson }}
app.kubernetes.io/instance: {{ .root.Values.app | toJson }}
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

{{/* Object labels: pod labels plus who manages the object. */}}
{{- define "kgen.labels" -}}
{{ include "kgen.podLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | toJson }}
helm.sh/chart: {{ include "kgen.chart" .root | toJson }}
{{- end -}}

{{/* name, namespace (only when the environment sets one) and labels. Call with (dict "root" $ "name" <component> "objectName" <name>). */}}
{{- define "kgen.metadata" -}}
name: {{ .objectName | toJson }}
{{- with .root.Values.namespace }}
namespace: {{ . | toJson }}
{{- end }}
labels:
  {{- include "kgen.labels" . | nindent 2 }}
{{- end -}}

{{/* <fullname>-<first 10 hex of sha256(toJson data)>: new configuration, new name, so pods roll. */}}
{{- define "kgen.configMapName" -}}
{{- printf "%s-%s" .fullname (toJson .config.data | sha256sum | trunc 10) -}}
{{- end -}}

{{/* The pod template of a component: its model's pod and container plus ports and configuration. */}}
{{- define "kgen.podTemplate" -}}
{{- $c := .c -}}
{{- $container := dict "name" .name "image" $c.container.image -}}
{{- with $c.ports }}
{{- $ports := list -}}
{{- range . }}{{ $ports = append $ports (dict "name" .name "containerPort" .port "protocol" .protocol) }}{{ end -}}
{{- $_ := set $container "ports" $ports -}}
{{- end }}
{{- $container = merge $container (deepCopy $c.container) -}}
{{- $pod := deepCopy $c.pod -}}
{{- with $c.config }}
{{- $name := include "kgen.configMapName" $c -}}
{{- if .mountPath }}
{{- $_ := set $container "volumeMounts" (append ($container.volumeMounts | default list) (dict "name" "config" "mountPath" .mountPath "readOnly" true)) -}}
{{- $_ := set $pod "volumes" (append ($pod.volumes | default list) (dict "name" "config" "configMap" (dict "name" $name))) -}}
{{- else }}
{{- $_ := set $container "envFrom" (prepend ($container.envFrom | default list) (dict "configMapRef" (dict "name" $name))) -}}
{{- end }}
{{- end }}
{{- $_ := set $pod "containers" (list $container) -}}
metadata:
  labels:
    {{- include "kgen.podLabels" . | nindent 4 }}
  {{- with $c.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- toYaml $pod | nindent 2 }}
{{- end -}}
