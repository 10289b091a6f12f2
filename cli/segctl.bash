# bash completion for segctl(1): commands, options, local segment names
# (from `segctl ls`) and known peers (from `segctl peers`), asking the segd
# that -s names, if given.
_segctl_segs()
{
	segctl "${_segctl_sock[@]}" ls 2>/dev/null | awk '{ print $1 }'
}

_segctl_peers()
{
	segctl "${_segctl_sock[@]}" peers 2>/dev/null | awk '$1 != "-" { print $1 }'
}

_segctl()
{
	local cur prev words cword
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local cmds="create ctl write read rm ls stat export unexport rebind get put
		peers stats free zalloc"
	local i cmd="" ncmd=0
	_segctl_sock=()
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s)
			_segctl_sock=(-s "${words[i + 1]}")
			((i++))
			;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd=${words[i]}
				ncmd=$i
			fi
			;;
		esac
	done
	if [ "$prev" = -s ]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-s -j -q" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		fi
		return
	fi
	# only the first argument after the command names something
	[ $((cword - ncmd)) -eq 1 ] || {
		[ "$cmd" = stats ] || [ "$cmd" = free ] || return
	}
	case $cmd in
	create) ;;
	ctl | write | read | rm | stat | export | unexport | rebind | zalloc)
		COMPREPLY=($(compgen -W "$(_segctl_segs)" -- "$cur"))
		;;
	ls)
		COMPREPLY=($(compgen -W "$(_segctl_peers)" -- "$cur"))
		;;
	get | put)
		if [[ $cur == */* ]]; then
			local node=${cur%%/*}
			COMPREPLY=($(compgen -P "$node/" -W "$(segctl "${_segctl_sock[@]}" ls "$node" 2>/dev/null | awk '{ print $1 }')" -- "${cur#*/}"))
		else
			COMPREPLY=($(compgen -S / -W "$(_segctl_peers)" -- "$cur"))
			compopt -o nospace 2>/dev/null
		fi
		;;
	stats)
		COMPREPLY=($(compgen -W "--prometheus" -- "$cur"))
		;;
	free)
		if [ $((cword - ncmd)) -eq 1 ]; then
			COMPREPLY=($(compgen -W "$(_segctl_segs)" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "-n" -- "$cur"))
		fi
		;;
	esac
}
complete -F _segctl segctl
