#!/usr/bin/perl
# Runs a program with its environment in an exact order (test/torture/): where a marker sits in a
# process's environment is what a torture case varies.
#   perl envx.pl [--argv0 T] [--at first|middle|late] [--move NAME]... [NAME=VALUE]... -- prog [args...]
# The environment is this process's own (/proc/self/environ, in its order) without the moved and
# assigned names; the assignments (and the moved variables, with their values) go first, in the
# middle, or `late`: after B1 … B9, nine variables of 120 kB each (1.08 MB, past a reader's 1 MiB).
# `--argv0` is the program's argv[0] (as `exec -a`). It execs: the program keeps this pid.
use strict;
use warnings;

my ($argv0, $at) = (undef, 'first');
my (@assign, %named);
while (@ARGV) {
  my $a = shift @ARGV;
  if ($a eq '--') { last }
  elsif ($a eq '--argv0') { $argv0 = shift @ARGV }
  elsif ($a eq '--at') { $at = shift @ARGV }
  elsif ($a eq '--move') { my $n = shift @ARGV; $named{$n} = 1; push @assign, [$n, $ENV{$n}] if defined $ENV{$n} }
  elsif ($a =~ /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s) { $named{$1} = 1; push @assign, [$1, $2] }
  else { die "envx: unexpected $a\n" }
}
die "envx: no program\n" unless @ARGV;
open(my $fh, '<', '/proc/self/environ') or die "envx: /proc/self/environ: $!\n";
my $raw = do { local $/; <$fh> };
close $fh;
my @own;
for my $entry (split /\0/, $raw) {
  next unless $entry =~ /^([^=]+)=(.*)$/s;
  push @own, [$1, $2] unless $named{$1};
}
my @order;
if ($at eq 'first') { @order = (@assign, @own) }
elsif ($at eq 'middle') { my $half = int(@own / 2); @order = (@own[0 .. $half - 1], @assign, @own[$half .. $#own]) }
elsif ($at eq 'late') { @order = (@own, (map { ["B$_", 'x' x (120 * 1024)] } 1 .. 9), @assign) }
else { die "envx: --at first|middle|late\n" }
%ENV = ();
$ENV{$_->[0]} = $_->[1] for @order; # after clearing, perl appends in this order
my $prog = shift @ARGV;
exec { $prog } (defined $argv0 ? $argv0 : $prog), @ARGV or die "envx: $prog: $!\n";
