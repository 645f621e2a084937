# Sourced at login: the Ruby that ships with GreenArrow.
GREENARROW_RUBY_HOME=$FERRY_ROOT/var/hvmail/ruby
export GREENARROW_RUBY_HOME
