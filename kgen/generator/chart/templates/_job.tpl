{{/* The Job fields of a job or cronjob component (without the pod template). */}}
{{- define "kgen.jobSpec" -}}
{{- $spec := dict "backoffLimit" (ternary .c.backoffLimit 3 (hasKey .c "backoffLimit")) -}}
{{- range $key := list "activeDeadlineSeconds" "ttlSecondsAfterFinished" "completions" "parallelism" "podFailurePolicy" -}}
{{- if hasKey $.c $key }}{{ $_ := set $spec $key (index $.c $key) }}{{ end -}}
{{- end -}}
{{- toYaml $spec -}}
{{- end -}}
