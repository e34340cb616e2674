# bash completion for nimbus-codes.
# Candidates come from the program itself ('nimbus-codes __complete'), so they
# follow its commands, options and the names in your store.

_nimbus_codes() {
    local cur words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -n =: || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local candidate
    COMPREPLY=()
    while IFS= read -r candidate; do
        # Names may hold spaces ("No sale"): insert them as one word.
        COMPREPLY+=("$(printf '%q' "$candidate")")
    done < <("${words[0]}" __complete -- "${words[@]:1:cword-1}" "$cur" 2>/dev/null)

    if ((${#COMPREPLY[@]} == 0)); then
        # Files, as for any command (import files, config files, --output).
        compopt -o default 2>/dev/null
    else
        # In the program's order: a service's codes as agents see them.
        compopt -o nosort 2>/dev/null
    fi
}

complete -F _nimbus_codes nimbus-codes
