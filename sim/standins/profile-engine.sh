# Sourced at login: puts GreenArrow Engine's programs on PATH.
case ":$PATH:" in
*":$FERRY_ROOT/var/hvmail/bin:"*) ;;
*) PATH=$PATH:$FERRY_ROOT/var/hvmail/bin ;;
esac
export PATH
HVMAIL_HOME=$FERRY_ROOT/var/hvmail
export HVMAIL_HOME
