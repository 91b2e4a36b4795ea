{{- define "forgeline.labels" -}}
app.kubernetes.io/name: forgeline
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "forgeline.selector" -}}
app.kubernetes.io/name: forgeline
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "forgeline.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret every service reads its secrets from. */}}
{{- define "forgeline.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" .Release.Name) -}}
{{- end -}}

{{/* The hardened container security context every container of the chart runs with. */}}
{{- define "forgeline.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Pod security context: a fixed non-root user, RuntimeDefault seccomp. */}}
{{- define "forgeline.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .user }}
runAsGroup: {{ .group }}
fsGroup: {{ .group }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Settings every Forgeline container reads: the ConfigMap and the Secret. */}}
{{- define "forgeline.envFrom" -}}
- configMapRef:
    name: {{ .Release.Name }}-config
- secretRef:
    name: {{ include "forgeline.secretName" . }}
{{- end -}}

{{/* The image of a CPU service: (dict "root" $ "thin" bool); thin for a service that loads no model. */}}
{{- define "forgeline.image" -}}
{{- $image := .root.Values.image -}}
image: "{{ ternary $image.thinRepository $image.repository (.thin | default false) }}:{{ $image.tag }}"
imagePullPolicy: {{ $image.pullPolicy }}
{{- end -}}
