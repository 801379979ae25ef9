Feature: Parents before children
  A change that references a parent the other side does not have yet waits for it, without
  holding up changes of other rows.

  Background:
    Given the legacy and revamp databases are empty and in sync

  Scenario: A post that arrives before its author waits, and other users go ahead
    When Debezium publishes the new legacy post 501 "Early bird" by legacy user 77
    And Debezium publishes the new legacy user 12 "bob"
    And the sync runs
    Then revamp has the user "bob" with email "bob@example.com" and status "Active"
    And revamp has no post "Early bird"
    And the dead-letter queue is empty
    When 10 seconds pass
    And Debezium publishes the new legacy user 77 "carol"
    And the sync runs
    Then on revamp the post "Early bird" is written by "carol"
    And the dead-letter queue is empty

  Scenario: A like waits for its user and its post from the other side
    Given the revamp application creates the user "rita"
    And the revamp application creates the post "Rita's news" by "rita"
    And the revamp application creates the user "ruth"
    And the revamp application records that "ruth" likes "Rita's news"
    When the sync runs
    Then on legacy "ruth" likes "Rita's news"
    And both databases hold the same data
