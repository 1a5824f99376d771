#!/usr/bin/perl
# PID 1 of a torture world's PID namespace (test/torture/): starts the world's driver, reaps every
# process re-parented to it at once (so that a killed orphan is gone, not a zombie), and exits with
# the driver's status — which ends the namespace: the kernel kills whatever is left in it.
#   perl init.pl prog [args...]
use strict;
use warnings;
use POSIX ();

my $driver = fork;
die "init: fork: $!\n" unless defined $driver;
if ($driver == 0) {
  exec { $ARGV[0] } @ARGV or POSIX::_exit(127);
}
while (1) {
  my $pid = waitpid(-1, 0);
  if ($pid == $driver) {
    my $status = $?;
    exit($status & 127 ? 128 + ($status & 127) : $status >> 8);
  }
  select(undef, undef, undef, 0.05) if $pid == -1;
}
