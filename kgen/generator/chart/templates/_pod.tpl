{{/*
The pod template every workload kind shares, computed from the component's
values exactly as `kgen build` computes it: security defaults, GPU resources
(limit = request; MIG slice, shared or whole GPU), the GPU toleration, product
selector and memory affinity, /dev/shm, probes with a long startup budget for
GPUs, volumes and the hash-named ConfigMap.
Call with (dict "root" $ "name" <component> "c" <values>).
*/}}
{{- define "kgen.podTemplate" -}}
{{- $c := .c -}}
{{- $fullname := include "kgen.componentName" . -}}
{{- $ports := include "kgen.ports" $c | fromYamlArray -}}
{{- $hasGpu := hasKey $c "gpu" -}}
{{- $gpu := $c.gpu | default dict -}}
{{- $storage := $c.storage | default dict -}}
{{- $pod := dict "serviceAccountName" (include "kgen.serviceAccountName" .) "automountServiceAccountToken" false -}}
{{- $_ := set $pod "securityContext" (include "kgen.deepMerge" (dict "base" (dict "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault")) "override" ($c.podSecurityContext | default dict)) | fromJson) -}}
{{- if has $c.kind (list "job" "cronjob") }}{{ $_ := set $pod "restartPolicy" ($c.restartPolicy | default "OnFailure") }}{{ end -}}
{{- $nodeSelector := deepCopy ($c.nodeSelector | default dict) -}}
{{- $tolerations := $c.tolerations | default list -}}
{{- $affinity := deepCopy ($c.affinity | default dict) -}}
{{- if $hasGpu -}}
{{- with $gpu.product }}{{ $_ := set $nodeSelector "nvidia.com/gpu.product" . }}{{ end -}}
{{- $tolerated := false -}}
{{- range $tolerations }}{{ if eq (toString .key) "nvidia.com/gpu" }}{{ $tolerated = true }}{{ end }}{{ end -}}
{{- if not $tolerated }}{{ $tolerations = append $tolerations (dict "key" "nvidia.com/gpu" "operator" "Exists" "effect" "NoSchedule") }}{{ end -}}
{{- if hasKey $gpu "minMemoryMiB" -}}
{{- $requirement := dict "key" "nvidia.com/gpu.memory" "operator" "Gt" "values" (list (toString (sub (int64 $gpu.minMemoryMiB) 1))) -}}
{{- $nodeAffinity := $affinity.nodeAffinity | default dict -}}
{{- $required := $nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution | default dict -}}
{{- $terms := list -}}
{{- range ($required.nodeSelectorTerms | default (list dict)) -}}
{{- $term := deepCopy . -}}
{{- $_ := set $term "matchExpressions" (append ($term.matchExpressions | default list) $requirement) -}}
{{- $terms = append $terms $term -}}
{{- end -}}
{{- $_ := set $required "nodeSelectorTerms" $terms -}}
{{- $_ := set $nodeAffinity "requiredDuringSchedulingIgnoredDuringExecution" $required -}}
{{- $_ := set $affinity "nodeAffinity" $nodeAffinity -}}
{{- end -}}
{{- with $gpu.runtimeClassName }}{{ $_ := set $pod "runtimeClassName" . }}{{ end -}}
{{- end -}}
{{- if $nodeSelector }}{{ $_ := set $pod "nodeSelector" $nodeSelector }}{{ end -}}
{{- if $tolerations }}{{ $_ := set $pod "tolerations" $tolerations }}{{ end -}}
{{- if $affinity }}{{ $_ := set $pod "affinity" $affinity }}{{ end -}}
{{- range $key := list "priorityClassName" "terminationGracePeriodSeconds" }}{{ if hasKey $c $key }}{{ $_ := set $pod $key (index $c $key) }}{{ end }}{{ end -}}
{{- with $c.imagePullSecrets -}}
{{- $secrets := list -}}
{{- range . }}{{ $secrets = append $secrets (dict "name" .) }}{{ end -}}
{{- $_ := set $pod "imagePullSecrets" $secrets -}}
{{- end -}}
{{- $volumes := list -}}
{{- $mounts := list -}}
{{- range $volume, $body := $storage -}}
{{- if hasKey $body "emptyDir" -}}
{{- $emptyDir := dict -}}
{{- range $key, $value := $body.emptyDir }}{{ $_ := set $emptyDir $key (ternary (include "kgen.text" $value) $value (eq $key "sizeLimit")) }}{{ end -}}
{{- $volumes = append $volumes (dict "name" $volume "emptyDir" $emptyDir) -}}
{{- else -}}
{{- $claim := dict "claimName" ($body.existingClaim | default (include "kgen.fitName" (dict "name" (printf "%s-%s" $fullname $volume) "limit" 63))) -}}
{{- if $body.readOnly }}{{ $_ := set $claim "readOnly" true }}{{ end -}}
{{- $volumes = append $volumes (dict "name" $volume "persistentVolumeClaim" $claim) -}}
{{- end -}}
{{- $mount := dict "name" $volume "mountPath" $body.mountPath -}}
{{- if $body.readOnly }}{{ $_ := set $mount "readOnly" true }}{{ end -}}
{{- with $body.subPath }}{{ $_ := set $mount "subPath" . }}{{ end -}}
{{- $mounts = append $mounts $mount -}}
{{- end -}}
{{- if $hasGpu -}}
{{- $volumes = append $volumes (dict "name" "dshm" "emptyDir" (dict "medium" "Memory" "sizeLimit" (include "kgen.text" ($gpu.shm | default "1Gi")))) -}}
{{- $mounts = append $mounts (dict "name" "dshm" "mountPath" "/dev/shm") -}}
{{- end -}}
{{- $container := dict "name" .name "image" (include "kgen.image" $c.image) -}}
{{- with $ports -}}
{{- $containerPorts := list -}}
{{- range . }}{{ $containerPorts = append $containerPorts (dict "name" .name "containerPort" .port "protocol" .protocol) }}{{ end -}}
{{- $_ := set $container "ports" $containerPorts -}}
{{- end -}}
{{- range $key := list "command" "args" "workingDir" }}{{ if hasKey $c $key }}{{ $_ := set $container $key (index $c $key) }}{{ end }}{{ end -}}
{{- $env := list -}}
{{- range $var, $value := $c.env -}}
{{- if kindIs "map" $value -}}
{{- if hasKey $value "fieldRef" -}}
{{- $env = append $env (dict "name" $var "valueFrom" (dict "fieldRef" (dict "fieldPath" $value.fieldRef))) -}}
{{- else if hasKey $value "secretRef" -}}
{{- $env = append $env (dict "name" $var "valueFrom" (dict "secretKeyRef" $value.secretRef)) -}}
{{- else -}}
{{- $env = append $env (dict "name" $var "valueFrom" (dict "configMapKeyRef" $value.configMapRef)) -}}
{{- end -}}
{{- else -}}
{{- $env = append $env (dict "name" $var "value" (include "kgen.text" $value)) -}}
{{- end -}}
{{- end -}}
{{- if $env }}{{ $_ := set $container "env" $env }}{{ end -}}
{{- $envFrom := list -}}
{{- range $c.envFrom -}}
{{- if hasKey . "secretRef" }}{{ $envFrom = append $envFrom (dict "secretRef" (dict "name" .secretRef)) }}{{ else }}{{ $envFrom = append $envFrom (dict "configMapRef" (dict "name" .configMapRef)) }}{{ end -}}
{{- end -}}
{{- $resources := $c.resources | default dict -}}
{{- $requests := dict "cpu" (include "kgen.text" ($resources.cpu | default "100m")) "memory" (include "kgen.text" ($resources.memory | default "128Mi")) -}}
{{- with $resources.ephemeralStorage }}{{ $_ := set $requests "ephemeral-storage" (include "kgen.text" .) }}{{ end -}}
{{- $limits := dict "memory" (include "kgen.text" ($resources.memoryLimit | default ($resources.memory | default "128Mi"))) -}}
{{- with $resources.cpuLimit }}{{ $_ := set $limits "cpu" (include "kgen.text" .) }}{{ end -}}
{{- if $hasGpu -}}
{{- $gpuResource := "nvidia.com/gpu" -}}
{{- if hasKey $gpu "mig" }}{{ $gpuResource = printf "nvidia.com/mig-%s" $gpu.mig }}{{ else if $gpu.sharing }}{{ $gpuResource = "nvidia.com/gpu.shared" }}{{ end -}}
{{- $count := ternary $gpu.count 1 (hasKey $gpu "count") -}}
{{- $_ := set $requests $gpuResource $count -}}
{{- $_ := set $limits $gpuResource $count -}}
{{- end -}}
{{- $_ := set $container "resources" (dict "limits" $limits "requests" $requests) -}}
{{- $_ := set $container "securityContext" (include "kgen.deepMerge" (dict "base" (dict "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault")) "override" ($c.securityContext | default dict)) | fromJson) -}}
{{- $_ := merge $container (include "kgen.probes" (dict "c" $c "ports" $ports) | fromYaml) -}}
{{- with $c.config -}}
{{- if .data -}}
{{- $configName := include "kgen.configMapName" $ -}}
{{- if .mountPath -}}
{{- $mounts = append $mounts (dict "name" "config" "mountPath" .mountPath "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "config" "configMap" (dict "name" $configName)) -}}
{{- else -}}
{{- $envFrom = prepend $envFrom (dict "configMapRef" (dict "name" $configName)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $envFrom }}{{ $_ := set $container "envFrom" $envFrom }}{{ end -}}
{{- if $mounts }}{{ $_ := set $container "volumeMounts" $mounts }}{{ end -}}
{{- if $volumes }}{{ $_ := set $pod "volumes" $volumes }}{{ end -}}
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

{{/* An image reference from {repository, tag, digest}. */}}
{{- define "kgen.image" -}}
{{- .repository }}{{ with .tag }}:{{ . }}{{ end }}{{ with .digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/* readiness (a TCP check on the primary port for services), liveness only when asked, and for GPUs a startup probe with a long budget (model loading). */}}
{{- define "kgen.probes" -}}
{{- $asked := .c.probes | default dict -}}
{{- $out := dict -}}
{{- if hasKey $asked "readiness" -}}
{{- $_ := set $out "readinessProbe" (include "kgen.probe" (dict "probe" $asked.readiness "ports" .ports) | fromYaml) -}}
{{- else if and (eq .c.kind "service") .ports -}}
{{- $_ := set $out "readinessProbe" (dict "tcpSocket" (dict "port" (index .ports 0).name)) -}}
{{- end -}}
{{- if hasKey $asked "liveness" -}}
{{- $_ := set $out "livenessProbe" (include "kgen.probe" (dict "probe" $asked.liveness "ports" .ports) | fromYaml) -}}
{{- end -}}
{{- if and (hasKey .c "gpu") (or (hasKey $asked "startup") (hasKey $out "readinessProbe")) -}}
{{- $startup := dict -}}
{{- if hasKey $asked "startup" -}}
{{- $startup = include "kgen.probe" (dict "probe" $asked.startup "ports" .ports) | fromYaml -}}
{{- else -}}
{{- range $key, $value := $out.readinessProbe }}{{ if has $key (list "httpGet" "tcpSocket" "grpc" "exec") }}{{ $_ := set $startup $key (deepCopy $value) }}{{ end }}{{ end -}}
{{- end -}}
{{- if not (hasKey $startup "periodSeconds") }}{{ $_ := set $startup "periodSeconds" 10 }}{{ end -}}
{{- if not (hasKey $startup "failureThreshold") }}{{ $_ := set $startup "failureThreshold" 90 }}{{ end -}}
{{- $_ := set $out "startupProbe" $startup -}}
{{- else if hasKey $asked "startup" -}}
{{- $_ := set $out "startupProbe" (include "kgen.probe" (dict "probe" $asked.startup "ports" .ports) | fromYaml) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* One spec probe as a Kubernetes probe; ports default to the primary (first) port. */}}
{{- define "kgen.probe" -}}
{{- $probe := .probe -}}
{{- $primary := dict -}}
{{- with .ports }}{{ $primary = index . 0 }}{{ end -}}
{{- $out := dict -}}
{{- if hasKey $probe "http" -}}
{{- $http := $probe.http | default dict -}}
{{- $get := dict "path" ($http.path | default "/") "port" (ternary $http.port $primary.name (hasKey $http "port")) -}}
{{- with $http.scheme }}{{ $_ := set $get "scheme" . }}{{ end -}}
{{- $_ := set $out "httpGet" $get -}}
{{- else if hasKey $probe "tcp" -}}
{{- $tcp := $probe.tcp | default dict -}}
{{- $_ := set $out "tcpSocket" (dict "port" (ternary $tcp.port $primary.name (hasKey $tcp "port"))) -}}
{{- else if hasKey $probe "grpc" -}}
{{- $grpc := $probe.grpc | default dict -}}
{{- $check := dict "port" (ternary $grpc.port $primary.port (hasKey $grpc "port")) -}}
{{- with $grpc.service }}{{ $_ := set $check "service" . }}{{ end -}}
{{- $_ := set $out "grpc" $check -}}
{{- else -}}
{{- $_ := set $out "exec" (dict "command" $probe.exec.command) -}}
{{- end -}}
{{- range $key := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" -}}
{{- if hasKey $probe $key }}{{ $_ := set $out $key (index $probe $key) }}{{ end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
