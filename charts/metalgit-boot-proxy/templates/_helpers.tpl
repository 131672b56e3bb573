{{/* Names, labels and the addresses the proxy listens on. */}}

{{- define "bootproxy.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bootproxy.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bootproxy.labels" -}}
{{ include "bootproxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: metalgit
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "bootproxy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bootproxy.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The VIP without its prefix length. */}}
{{- define "bootproxy.ip" -}}
{{- first (splitList "/" .Values.vip) -}}
{{- end -}}

{{/* hostNetwork from either value render sets. */}}
{{- define "bootproxy.hostNetwork" -}}
{{- if or .Values.hostNetwork (eq .Values.attachment.type "hostNetwork") -}}true{{- end -}}
{{- end -}}

{{/* The Multus networks annotation: the attachment under a fixed interface name. */}}
{{- define "bootproxy.networks" -}}
{{- $parts := splitList "/" .Values.attachment.networkAttachmentDefinition -}}
{{- list (dict "namespace" (first $parts) "name" (last $parts) "interface" .Values.interface) | toJson -}}
{{- end -}}
