{{- define "launchlink.name" -}}{{ .Release.Name }}-launchlink{{- end -}}
