# SPDX-License-Identifier: MIT
# bash completion for the ocipipe programs: oci-layer, oci-config,
# oci-manifest, oci-pack, oci-flatten, oci-diff, oci-push, oci-layermap.  Installed into the bash-completion directory
# (completions/ocipipe, with one symlink per program), or source it:
#   . completion/ocipipe.bash
# The option names come from each program's --help, so they stay true.

# _ocipipe_options PROG: the long options PROG --help lists (cached)
_ocipipe_options()
{
	local var="_ocipipe_opts_${1//-/_}"
	if [[ -z ${!var-} ]]; then
		printf -v "$var" '%s' "$("$1" --help 2>/dev/null |
			sed -n 's/^ *\(-[^ ]\(, \)\{0,1\}\)\{0,1\}\(--[a-z][-a-z0-9]*\(, --[a-z][-a-z0-9]*\)*\).*/\3/p' |
			tr -s ', ' '\n\n')"
	fi
	printf '%s\n' "${!var}"
}

_ocipipe()
{
	local cur prev prog=${1##*/} opt val
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}

	# --opt=value: complete the value of --opt (bash splits the words
	# at "=" when COMP_WORDBREAKS holds it, as it does by default)
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*} val=${cur#*=}
	elif [[ $cur == = && $prev == --* ]]; then
		opt=$prev val=
	elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
		opt=${COMP_WORDS[COMP_CWORD-2]} val=$cur
	else
		opt=$prev val=$cur
		# a previous word that is no option taking a value: complete options
		case $opt in
		-c|-l|-T|-e|-p|-a|-u|-w|-t|-o|--compress|--level|--threads|\
		--entrypoint|--cmd|--env|--label|--port|--volume|--arch|--variant|--os|\
		--user|--workdir|--stop-signal|--author|--author-email|--created|\
		--source-date-epoch|--from|--annotation|--oci-annotation|--tag|\
		--output|--created-by|--comment|--media-types|--base-ref|--name|\
		-i|--input|--ref|-L|--lower|--creds|--authfile|--cert-dir|--chunk-size|\
		--mount-from|--retry-times|--retry-delay|--timeout|--print-descriptor|\
		--split|--split-rest|-n|--max-layers|--pkgdata) ;;
		*) opt= ;;
		esac
	fi

	if [[ -n $opt ]]; then
		local words=
		case $prog:$opt in
		oci-layer:-c|oci-layer:--compress|oci-diff:-c|oci-diff:--compress) words="gzip zstd none" ;;
		oci-config:-a|oci-diff:-a|*:--arch)
			words="amd64 arm64 arm 386 riscv64 ppc64le ppc64 s390x mips mipsle mips64 mips64le loong64 x86_64 aarch64 armv7 armv6 armv5 armhf armel i686" ;;
		*:--variant) words="v5 v6 v7 v8" ;;
		*:--os) words="linux" ;;
		*:--media-types) words="oci docker" ;;
		oci-push:--tls-verify) words="true false" ;;
		oci-push:--chunk-size) words="1M 4M 8M 16M 24M" ;;
		*:--stop-signal) words="SIGTERM SIGINT SIGQUIT SIGKILL SIGHUP SIGUSR1 SIGUSR2" ;;
		*:--oci-annotation)
			words="created authors url= documentation= source= version= revision= vendor= licenses= ref.name= title= description= base.digest= base.name=" ;;
		*:--from|oci-flatten:-i|oci-flatten:--input|oci-diff:-L|oci-diff:--lower|\
		oci-push:--authfile|*:--print-descriptor|oci-layer:--split)
			COMPREPLY=($(compgen -f -- "$val"))
			compopt -o filenames 2>/dev/null
			;;
		oci-pack:-o|oci-pack:--output|*:--workdir|*:-w|*:--volume|oci-push:--cert-dir|\
		oci-layermap:--pkgdata)
			COMPREPLY=($(compgen -d -- "$val"))
			compopt -o filenames 2>/dev/null
			;;
		oci-layer:-l|oci-layer:--level|oci-diff:-l|oci-diff:--level) words="1 2 3 4 5 6 7 8 9" ;;
		esac
		if [[ -n $words ]]; then
			COMPREPLY=($(compgen -W "$words" -- "$val"))
			[[ $prog:$opt == *:--oci-annotation ]] && compopt -o nospace 2>/dev/null
		fi
		return 0
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_ocipipe_options "$1")" -- "$cur"))
	elif [[ $prog == oci-flatten ]]; then
		# the IMAGE argument: a file
		COMPREPLY=($(compgen -f -- "$cur"))
		compopt -o filenames 2>/dev/null
	elif [[ $prog == oci-layermap ]]; then
		# the ROOTFS argument: a directory
		COMPREPLY=($(compgen -d -- "$cur"))
		compopt -o filenames 2>/dev/null
	elif [[ $prog == oci-push && -z $cur ]]; then
		# DEST
		COMPREPLY=(docker://)
		compopt -o nospace 2>/dev/null
	fi
	return 0
}

complete -F _ocipipe oci-layer oci-config oci-manifest oci-pack oci-flatten oci-diff oci-push oci-layermap
