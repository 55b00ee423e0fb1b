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
{{- if has $c.kind (list "job" "cronjob") }}{{ $_ := set $pod "restartPolicy" ($c.restartPolicy | default (ternary "Never" "OnFailure" (hasKey $c "podFailurePolicy"))) }}{{ end -}}
{{- /* a training gang restarts as a whole when one node fails, never one pod */ -}}
{{- if eq $c.kind "training" }}{{ $_ := set $pod "restartPolicy" ($c.restartPolicy | default "Never") }}{{ end -}}
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
{{- if $body.perReplica -}}
{{- /* a volumeClaimTemplate of the StatefulSet: mounted, not a pod volume */ -}}
{{- else if hasKey $body "emptyDir" -}}
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
{{- $fileVolumes := dict -}}
{{- range $path, $body := $c.files -}}
{{- $volume := include "kgen.fileVolume" $body -}}
{{- if and (not (hasKey $body "content")) (not (hasKey $fileVolumes $volume)) -}}
{{- $_ := set $fileVolumes $volume true -}}
{{- if hasKey $body "secret" }}{{ $volumes = append $volumes (dict "name" $volume "secret" (dict "secretName" $body.secret)) }}{{ else }}{{ $volumes = append $volumes (dict "name" $volume "configMap" (dict "name" $body.configMap)) }}{{ end -}}
{{- end -}}
{{- $mounts = append $mounts (dict "name" $volume "mountPath" $path "subPath" (ternary (base $path) $body.key (hasKey $body "content")) "readOnly" true) -}}
{{- end -}}
{{- with include "kgen.filesData" $c -}}
{{- $volumes = append $volumes (dict "name" "files" "configMap" (dict "name" (include "kgen.filesConfigMapName" $))) -}}
{{- end -}}
{{- $init := list -}}
{{- range $c.initContainers }}{{ $init = append $init (include "kgen.extraContainer" . | fromJson) }}{{ end -}}
{{- range $c.sidecars }}{{ $init = append $init (set (include "kgen.extraContainer" . | fromJson) "restartPolicy" "Always") }}{{ end -}}
{{- if $init }}{{ $_ := set $pod "initContainers" $init }}{{ end -}}
{{- $serving := $c.serving | default "deployment" -}}
{{- $training := include "kgen.training" . | fromYaml -}}
{{- $containerName := .name -}}
{{- if eq $training.operator "kubeflow" }}{{ $containerName = "pytorch" }}{{ else if eq $serving "kserve" }}{{ $containerName = "kserve-container" }}{{ end -}}
{{- $container := dict "name" $containerName "image" (include "kgen.image" $c.image) -}}
{{- $containerPorts := list -}}
{{- $portNumbers := list -}}
{{- range $ports -}}
{{- $portNumbers = append $portNumbers (int .port) -}}
{{- /* Knative and KServe accept only the port names http1 and h2c (gRPC) */ -}}
{{- $portName := ternary (ternary "h2c" "http1" (has .name (list "h2c" "grpc"))) .name (ne $serving "deployment") -}}
{{- $containerPorts = append $containerPorts (dict "name" $portName "containerPort" .port "protocol" .protocol) -}}
{{- end -}}
{{- if and $training (not (has (int $training.port) $portNumbers)) -}}
{{- $containerPorts = append $containerPorts (dict "name" (ternary "pytorchjob-port" "rendezvous" (eq $training.operator "kubeflow")) "containerPort" $training.port "protocol" "TCP") -}}
{{- end -}}
{{- if $containerPorts }}{{ $_ := set $container "ports" $containerPorts }}{{ end -}}
{{- range $key := list "command" "args" "workingDir" }}{{ if hasKey $c $key }}{{ $_ := set $container $key (index $c $key) }}{{ end }}{{ end -}}
{{- $env := list -}}
{{- if and $training (ne $training.operator "kubeflow") -}}
{{- /* what torchrun reads (PET_*) and what training scripts conventionally read */ -}}
{{- $rank := dict "fieldRef" (dict "fieldPath" "metadata.annotations['batch.kubernetes.io/job-completion-index']") -}}
{{- $nodes := toString $training.nodes -}}
{{- $port := toString $training.port -}}
{{- $env = concat $env (list (dict "name" "MASTER_ADDR" "value" $training.masterAddress) (dict "name" "MASTER_PORT" "value" $port) (dict "name" "WORLD_SIZE" "value" $nodes) (dict "name" "NNODES" "value" $nodes) (dict "name" "NODE_RANK" "valueFrom" $rank) (dict "name" "PET_MASTER_ADDR" "value" $training.masterAddress) (dict "name" "PET_MASTER_PORT" "value" $port) (dict "name" "PET_NNODES" "value" $nodes) (dict "name" "PET_NODE_RANK" "valueFrom" (deepCopy $rank))) -}}
{{- if $hasGpu }}{{ $env = append $env (dict "name" "PET_NPROC_PER_NODE" "value" (toString (ternary $gpu.count 1 (hasKey $gpu "count")))) }}{{ end -}}
{{- end -}}
{{- $env = concat $env (include "kgen.env" $c.env | fromYamlArray) -}}
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
{{- range $resource, $amount := $resources.extra }}{{ $_ := set $requests $resource (include "kgen.text" $amount) }}{{ $_ := set $limits $resource (include "kgen.text" $amount) }}{{ end -}}
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
{{- with $c.preStop -}}
{{- $handler := dict -}}
{{- if hasKey . "sleep" }}{{ $handler = dict "sleep" (dict "seconds" .sleep) }}{{ else if hasKey . "exec" }}{{ $handler = dict "exec" (dict "command" .exec) }}{{ else -}}
{{- $handler = dict "httpGet" (dict "path" (.http.path | default "/") "port" (ternary .http.port (ternary (index $ports 0).name nil (gt (len $ports) 0)) (hasKey .http "port"))) -}}
{{- end -}}
{{- $_ := set $container "lifecycle" (dict "preStop" $handler) -}}
{{- end -}}
{{- if ne $serving "deployment" -}}
{{- /* Knative rejects named probe ports (its port names are protocols): refer to the number */ -}}
{{- $numbers := dict -}}
{{- range $ports }}{{ $_ := set $numbers .name .port }}{{ end -}}
{{- range $probe := list "readinessProbe" "livenessProbe" "startupProbe" -}}
{{- range $handler := list "httpGet" "tcpSocket" -}}
{{- $found := index ((index $container $probe) | default dict) $handler -}}
{{- if and $found (kindIs "string" $found.port) }}{{ $_ := set $found "port" (index $numbers $found.port) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $http := (($container.lifecycle | default dict).preStop | default dict).httpGet -}}
{{- if and $http (kindIs "string" $http.port) }}{{ $_ := set $http "port" (index $numbers $http.port) }}{{ end -}}
{{- end -}}
{{- if $volumes }}{{ $_ := set $pod "volumes" $volumes }}{{ end -}}
{{- $container = include "kgen.deepMerge" (dict "base" $container "override" ($c.containerOverrides | default dict)) | fromJson -}}
{{- $_ := set $pod "containers" (list $container) -}}
{{- $pod = include "kgen.deepMerge" (dict "base" $pod "override" ($c.podOverrides | default dict)) | fromJson -}}
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

{{/* An init container or sidecar: the same security and resource defaults as the main one. Returns JSON. */}}
{{- define "kgen.extraContainer" -}}
{{- $container := dict "name" .name "image" .image -}}
{{- $ports := include "kgen.ports" . | fromYamlArray -}}
{{- with $ports -}}
{{- $containerPorts := list -}}
{{- range . }}{{ $containerPorts = append $containerPorts (dict "name" .name "containerPort" .port "protocol" .protocol) }}{{ end -}}
{{- $_ := set $container "ports" $containerPorts -}}
{{- end -}}
{{- range $key := list "command" "args" "workingDir" }}{{ if hasKey $ $key }}{{ $_ := set $container $key (index $ $key) }}{{ end }}{{ end -}}
{{- with include "kgen.env" .env | fromYamlArray }}{{ $_ := set $container "env" . }}{{ end -}}
{{- $resources := .resources | default dict -}}
{{- $requests := dict "cpu" (include "kgen.text" ($resources.cpu | default "100m")) "memory" (include "kgen.text" ($resources.memory | default "128Mi")) -}}
{{- with $resources.ephemeralStorage }}{{ $_ := set $requests "ephemeral-storage" (include "kgen.text" .) }}{{ end -}}
{{- $limits := dict "memory" (include "kgen.text" ($resources.memoryLimit | default ($resources.memory | default "128Mi"))) -}}
{{- with $resources.cpuLimit }}{{ $_ := set $limits "cpu" (include "kgen.text" .) }}{{ end -}}
{{- range $resource, $amount := $resources.extra }}{{ $_ := set $requests $resource (include "kgen.text" $amount) }}{{ $_ := set $limits $resource (include "kgen.text" $amount) }}{{ end -}}
{{- $_ := set $container "resources" (dict "limits" $limits "requests" $requests) -}}
{{- range $kind, $probe := .probes }}{{ $_ := set $container (printf "%sProbe" $kind) (include "kgen.probe" (dict "probe" $probe "ports" $ports) | fromYaml) }}{{ end -}}
{{- $_ := set $container "securityContext" (include "kgen.deepMerge" (dict "base" (dict "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault")) "override" (.securityContext | default dict)) | fromJson) -}}
{{- toJson $container -}}
{{- end -}}

{{/* Env vars from a spec env map (sorted by name), as a YAML list. */}}
{{- define "kgen.env" -}}
{{- $env := list -}}
{{- range $var, $value := . -}}
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
{{- toYaml $env -}}
{{- end -}}

{{/* A training component's gang as YAML (operator, nodes, port, service, masterAddress), or nothing. */}}
{{- define "kgen.training" -}}
{{- if eq .c.kind "training" -}}
{{- $fullname := include "kgen.componentName" . -}}
{{- $out := dict "operator" (.c.operator | default "none") "nodes" .c.nodes "port" (.c.rendezvousPort | default 29500) -}}
{{- if eq $out.operator "none" -}}
{{- $_ := set $out "service" $fullname -}}
{{- $_ := set $out "masterAddress" (printf "%s-0.%s" (include "kgen.jobName" .) $fullname) -}}
{{- else if eq $out.operator "jobset" -}}
{{- $_ := set $out "masterAddress" (printf "%s-node-0-0.%s" (include "kgen.jobName" .) $fullname) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
{{- end -}}

{{/* The volume a file comes from: the component's files ConfigMap or one per named Secret/ConfigMap. */}}
{{- define "kgen.fileVolume" -}}
{{- if hasKey . "content" }}files{{ else }}{{ include "kgen.fitName" (dict "name" (printf "files-%s-%s" (ternary "secret" "configmap" (hasKey . "secret")) (.secret | default .configMap)) "limit" 63) }}{{ end -}}
{{- end -}}

{{/* The content of a component's files (base name -> text) as JSON, or nothing. */}}
{{- define "kgen.filesData" -}}
{{- $data := dict -}}
{{- range $path, $body := .files }}{{ if hasKey $body "content" }}{{ $_ := set $data (base $path) (include "kgen.text" $body.content) }}{{ end }}{{ end -}}
{{- if $data }}{{ toJson $data }}{{ end -}}
{{- end -}}

{{- define "kgen.filesConfigMapName" -}}
{{- printf "%s-files-%s" (include "kgen.componentName" .) (include "kgen.filesData" .c | sha256sum | trunc 10) -}}
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
